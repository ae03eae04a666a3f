export function portalTitle(): string {
  return process.env.NEXT_PUBLIC_PORTAL_TITLE ?? 'Partner Portal'
}
