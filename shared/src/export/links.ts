/** Links an export may keep: absolute http(s) and mailto. Anything else (javascript:, data:, relative) is dropped to its text. */
export function isSafeLink(url: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  return /^(https?:\/\/|mailto:)[^\s<>"]+$/i.test(url.trim()) && !/[\u0000-\u001f]/.test(url);
}
