/** Resolves once `check()` holds, polled every 100 ms; rejects after `ms`, so a test never hangs on it. */
export function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (check()) resolve(clearInterval(timer));
      else if (Date.now() > until) reject(new Error(`condition not met within ${ms} ms`, { cause: clearInterval(timer) }));
    }, 100);
  });
}
