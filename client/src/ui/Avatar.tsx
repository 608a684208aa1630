import { initials } from './format';

export function Avatar({
  name,
  color,
  size = 28,
  title,
  guest = false,
}: {
  name: string;
  color: string;
  size?: number;
  title?: string;
  /** A guest's avatar has its own shape and a dashed ring, never a member's look. */
  guest?: boolean;
}) {
  return (
    <span
      className={guest ? 'avatar guest' : 'avatar'}
      style={{ background: color, width: size, height: size, fontSize: Math.round(size * 0.42) }}
      title={title ?? name}
      role="img"
      aria-label={title ?? name}
    >
      {initials(name)}
    </span>
  );
}
