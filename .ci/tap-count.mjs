// Reads a TAP stream on stdin and prints "N passed, N failed, N skipped" counting leaf
// assertions (a subtest's own summary point is not counted again). Exits 1 on any
// failure, on a bail-out, or when no test ran.
import { Parser } from 'tap-parser';

let passed = 0;
let failed = 0;
let skipped = 0;
let bailed = false;

function watch(parser) {
  const children = [];
  parser.on('child', (child) => {
    children.push(child);
    watch(child);
  });
  parser.on('assert', (res) => {
    // A point that closes a subtest was produced by the child parser just seen.
    const child = children.find((c) => c.name === res.name && !c.counted);
    if (child) {
      child.counted = true;
      if (!res.ok && !child.sawFailure) failed += 1;
      return;
    }
    if (res.skip) skipped += 1;
    else if (res.todo) skipped += 1;
    else if (res.ok) passed += 1;
    else {
      failed += 1;
      for (let p = parser; p; p = p.parent) p.sawFailure = true;
    }
  });
  parser.on('bailout', () => {
    bailed = true;
  });
}

const root = new Parser();
watch(root);
root.on('complete', () => {
  const total = passed + failed;
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 || bailed || total === 0 ? 1 : 0);
});
process.stdin.pipe(root);
