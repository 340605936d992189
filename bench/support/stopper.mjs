// Everything a benchmark starts stops on success, failure, a signal or its deadline:
// `cleanups` takes the stop functions (run newest first, once); `cleanup()` runs them; past
// `deadlineS` the process says so, cleans up and exits with `code`.
export function stopper(name, deadlineS, code) {
  const cleanups = [];
  let cleaned = false;
  function cleanup() {
    if (cleaned) return;
    cleaned = true;
    for (const f of cleanups.reverse()) { try { f(); } catch { /* best effort */ } }
  }
  process.on("exit", cleanup);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => { cleanup(); process.exit(130); });
  const deadline = setTimeout(() => {
    console.error(`${name}: gave up after ${deadlineS} s (DEADLINE_S); stopping everything`);
    cleanup();
    process.exit(code);
  }, deadlineS * 1000);
  return { cleanups, cleanup, deadline };
}
