'use strict';

// The small glob the worker resolves package.json's "main" with: real
// apps use patterns such as "functions/*.js" and
// "src/{index.js,functions/*.js}".
//
//   expandBraces('src/{a,b/*.js}') -> ['src/a', 'src/b/*.js']
//   glob(pattern, cwd)             -> ['src/a', 'src/b/x.js', ...]
//
// Syntax: `*` any characters but '/', `?` one character but '/', `**` as
// a whole segment any number of folders (none included), `{a,b}` the
// alternatives, nested braces too; a backslash escapes the next character.
// Wildcards do not match a leading '.' (so "*.js" skips ".eslintrc.js"),
// and `**` does not enter folders starting with '.' or node_modules.
//
// glob returns the files (never folders) that match, as paths relative to
// cwd with '/' separators, without duplicates: the alternatives of a brace
// in the order written, the files matching one alternative in name order.

const fs = require('node:fs');
const path = require('node:path');

// expandBraces returns the patterns a brace pattern stands for.
function expandBraces(pattern) {
  // Find the first top-level '{' with a matching '}' and a ',' inside.
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c !== '{') continue;
    let depth = 0;
    const commas = [];
    let end = -1;
    for (let j = i; j < pattern.length; j++) {
      const d = pattern[j];
      if (d === '\\') {
        j++;
        continue;
      }
      if (d === '{') depth++;
      else if (d === '}') {
        depth--;
        if (depth === 0) {
          end = j;
          break;
        }
      } else if (d === ',' && depth === 1) commas.push(j);
    }
    if (end < 0) throw new Error(`pattern ${JSON.stringify(pattern)} has a '{' without its '}'`);
    if (commas.length === 0) continue; // "{a}" is literal
    const head = pattern.slice(0, i);
    const tail = pattern.slice(end + 1);
    const bounds = [i, ...commas, end];
    const out = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      const alt = pattern.slice(bounds[k] + 1, bounds[k + 1]);
      for (const p of expandBraces(head + alt + tail)) out.push(p);
    }
    return out;
  }
  return [pattern];
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// segmentRegExp compiles one path segment without braces or '**'; it
// returns null for a segment without wildcards.
function segmentRegExp(seg) {
  let re = '';
  let wild = false;
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '\\' && i + 1 < seg.length) {
      re += escapeRegExp(seg[++i]);
    } else if (c === '*') {
      wild = true;
      re += '[^/]*';
    } else if (c === '?') {
      wild = true;
      re += '[^/]';
    } else {
      re += escapeRegExp(c);
    }
  }
  if (!wild) return null;
  // A leading '.' must be written out.
  return new RegExp(`^(?!\\.)${re}$`);
}

function unescape(seg) {
  return seg.replace(/\\(.)/g, '$1');
}

function statOf(p) {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function readdir(dir) {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

// walk appends to out the files under dir (relative rel) matching segs.
function walk(cwd, rel, segs, out) {
  const abs = rel ? path.join(cwd, rel) : cwd;
  if (segs.length === 0) {
    const st = statOf(abs);
    if (st && st.isFile()) out.push(rel);
    return;
  }
  const [seg, ...rest] = segs;
  const join = (name) => (rel ? `${rel}/${name}` : name);
  if (seg === '**') {
    walk(cwd, rel, rest, out); // no folder
    for (const name of readdir(abs)) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const st = statOf(path.join(abs, name));
      if (st && st.isDirectory()) walk(cwd, join(name), segs, out);
    }
    return;
  }
  const re = segmentRegExp(seg);
  if (re === null) {
    walk(cwd, join(unescape(seg)), rest, out);
    return;
  }
  for (const name of readdir(abs)) {
    if (re.test(name)) walk(cwd, join(name), rest, out);
  }
}

// glob returns the files under cwd that pattern matches (see above).
function glob(pattern, cwd) {
  if (typeof pattern !== 'string' || pattern === '') throw new Error('the pattern is empty');
  const seen = new Set();
  const out = [];
  for (const p of expandBraces(pattern)) {
    const segs = p.split('/').filter((s, i) => s !== '.' && !(s === '' && i > 0));
    let root = cwd;
    if (segs[0] === '') {
      // An absolute pattern.
      root = '/';
      segs.shift();
    }
    const found = [];
    walk(root, '', segs, found);
    for (const f of found) {
      const key = root === '/' ? '/' + f : f;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(key);
    }
  }
  return out;
}

module.exports = { glob, expandBraces, segmentRegExp };
