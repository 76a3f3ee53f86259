'use strict';

// Tests of glob.js, the glob package.json's "main" is resolved with.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { glob, expandBraces } = require('../glob.js');

test('expandBraces expands alternatives in order, nested and escaped', () => {
  assert.deepEqual(expandBraces('src/{index.js,functions/*.js}'), ['src/index.js', 'src/functions/*.js']);
  assert.deepEqual(expandBraces('{a,b}/{c,d}'), ['a/c', 'a/d', 'b/c', 'b/d']);
  assert.deepEqual(expandBraces('x/{a,b/*.{js,mjs}}'), ['x/a', 'x/b/*.js', 'x/b/*.mjs']);
  assert.deepEqual(expandBraces('{a}'), ['{a}']);
  assert.deepEqual(expandBraces('\\{a,b}'), ['\\{a,b}']);
  assert.deepEqual(expandBraces('{,x}.js'), ['.js', 'x.js']);
  assert.throws(() => expandBraces('{a,b'), /has a '\{' without its '\}'/);
});

function tree(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glob-'));
  for (const f of files) {
    fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), '');
  }
  return dir;
}

test('glob matches files with *, ?, ** and braces', () => {
  const dir = tree([
    'index.js', 'b.js', 'a.js', '.hidden.js', 'readme.md',
    'src/index.js', 'src/functions/z.js', 'src/functions/a.js', 'src/functions/e.mjs', 'src/functions/sub/deep.js',
    'dist/src/functions/x.js', 'node_modules/lib/index.js', '.cache/c.js', 'ab1.js', 'ab22.js',
  ]);
  fs.mkdirSync(path.join(dir, 'folder.js'));
  assert.deepEqual(glob('*.js', dir), ['a.js', 'ab1.js', 'ab22.js', 'b.js', 'index.js']);
  assert.deepEqual(glob('ab?.js', dir), ['ab1.js']);
  assert.deepEqual(glob('src/{index.js,functions/*.js}', dir), ['src/index.js', 'src/functions/a.js', 'src/functions/z.js']);
  assert.deepEqual(glob('src/functions/*.{mjs,js}', dir), ['src/functions/e.mjs', 'src/functions/a.js', 'src/functions/z.js']);
  assert.deepEqual(glob('src/**/*.js', dir), ['src/index.js', 'src/functions/a.js', 'src/functions/z.js', 'src/functions/sub/deep.js']);
  assert.deepEqual(glob('**/x.js', dir), ['dist/src/functions/x.js']);
  assert.deepEqual(glob('./index.js', dir), ['index.js']);
  assert.deepEqual(glob('index.js', dir), ['index.js']);
  assert.deepEqual(glob('{index.js,*.js}', dir), ['index.js', 'a.js', 'ab1.js', 'ab22.js', 'b.js'], 'no duplicates');
  assert.deepEqual(glob('.hidden.js', dir), ['.hidden.js'], 'a leading dot written out matches');
  assert.deepEqual(glob('missing/*.js', dir), []);
  assert.deepEqual(glob('folder.js', dir), [], 'folders are not files');
  assert.deepEqual(glob(path.join(dir, 'src', '*.js'), '/elsewhere'), [path.join(dir, 'src', 'index.js')]);
  assert.throws(() => glob('', dir), /empty/);
});
