// Preload (`node --import ./test/open-handles.ts script`) for scripts that must end by themselves:
// once the script sets process.exitCode (its last statement), whatever would still keep the process
// alive for long (test/handles.ts) is printed as one `open handles: …` line on stderr.
import { trackHandles } from './handles.js';

const tracker = trackHandles();
const poll = setInterval(() => {
  if (process.exitCode === undefined) return;
  clearInterval(poll);
  // One turn later: what the script's last statement started has had its chance to end.
  setImmediate(() => {
    const open = tracker.open();
    if (open.length) process.stderr.write(`open handles: ${open.join(', ')}\n`);
  }).unref();
}, 20);
poll.unref();
