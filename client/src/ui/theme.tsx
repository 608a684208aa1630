/**
 * Light or dark: by default the system's choice (prefers-color-scheme, in CSS); the toggle cycles through
 * system, light and dark and remembers the choice on this device. A choice is `data-theme` on <html>.
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

function apply(choice: ThemeChoice): void {
  if (choice === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
}

apply(theme.getState().choice);

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
