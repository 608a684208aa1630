import { initials } from './format';

export function Avatar({
  name,
  color,
  size = 28,
  title,
}: {
  name: string;
  color: string;
  size?: number;
  title?: string;
}) {
  return (
    <span
      className="avatar"
      style={{ background: color, width: size, height: size, fontSize: Math.round(size * 0.42) }}
      title={title ?? name}
      role="img"
      aria-label={title ?? name}
    >
      {initials(name)}
    </span>
  );
}
