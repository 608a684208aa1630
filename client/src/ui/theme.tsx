/**
 * Light or dark: by default the system's choice (prefers-color-scheme, followed as it changes); the toggle cycles
 * through system, light and dark and remembers the choice on this device. The theme in force is `data-theme` on
 * <html>, always `light` or `dark`, so the stylesheet holds the dark palette once.
 */
import { newStore, useStoreState } from '../app/store';

export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'marginalia:theme';
const NEXT: Record<ThemeChoice, ThemeChoice> = { system: 'light', light: 'dark', dark: 'system' };
const LABEL: Record<ThemeChoice, string> = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' };

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    // Storage may be unavailable (private modes): the system's choice then.
    return 'system';
  }
}

export const theme = newStore<{ choice: ThemeChoice }>({ choice: stored() });

const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

function apply(choice: ThemeChoice): void {
  document.documentElement.dataset.theme = choice === 'system' ? (systemDark.matches ? 'dark' : 'light') : choice;
}

apply(theme.getState().choice);
systemDark.addEventListener('change', () => apply(theme.getState().choice));

export function chooseTheme(choice: ThemeChoice): void {
  theme.setState({ choice });
  apply(choice);
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // Not remembered on this device; the choice still holds until the page is closed.
  }
}

export function ThemeToggle({ className = 'subtle' }: { className?: string }) {
  const { choice } = useStoreState(theme);
  return (
    <button
      type="button"
      className={`theme-toggle ${className}`}
      onClick={() => chooseTheme(NEXT[choice])}
      title="Switch between the system's theme, light and dark"
      data-theme-choice={choice}
    >
      <span aria-hidden="true">{choice === 'dark' ? '☾' : choice === 'light' ? '☀' : '◐'}</span>
      <span className="theme-label">{LABEL[choice]}</span>
    </button>
  );
}
