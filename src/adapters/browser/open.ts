/**
 * Open a URL in the person's browser with `open` (loaded only when needed).
 * Failure to start a browser is not an error: the URL is always printed too.
 */
export async function openInBrowser(url: string): Promise<void> {
  try {
    const { default: open } = await import('open');
    const child = await open(url, { wait: false });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No browser here; the printed URL is the way.
  }
}
