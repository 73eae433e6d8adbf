/**
 * The preflight of every npm script a newcomer runs (package.json's pre<script> hooks): stops at
 * once, with one sentence saying what to install, when this Node.js is older than package.json's
 * engines.node. Without it an old Node ends in a cryptic ERR_UNKNOWN_FILE_EXTENSION ".ts" (the
 * project runs its .ts files with Node's type stripping). Silent, status 0, when Node is recent
 * enough.
 *
 * Plain CommonJS in the oldest JavaScript on purpose (var, no arrow functions, no template
 * literals): it must run on whatever old Node is found, which is the point.
 */
'use strict';

var fs = require('fs');
var path = require('path');

// The Node.js line to recommend: the LTS the project targets (README, Dockerfile, .ci/run).
var RECOMMENDED_MAJOR = '24';

var manifestPath = path.join(__dirname, '..', 'package.json');
var range = JSON.parse(fs.readFileSync(manifestPath, 'utf8')).engines;
range = range && range.node;

// Only the form the project uses, ">=MAJOR.MINOR": anything else is refused rather than guessed at.
var match = typeof range === 'string' ? /^>=\s*(\d+)\.(\d+)$/.exec(range.trim()) : null;
if (!match) {
  process.stderr.write(
    'scripts/require-node.cjs understands only an engines.node of the form ">=MAJOR.MINOR" in package.json, not ' +
      JSON.stringify(range === undefined ? null : range) +
      ': change one or the other.\n'
  );
  process.exit(1);
}
var required = { major: Number(match[1]), minor: Number(match[2]) };

var current = process.versions.node.split('.');
var major = Number(current[0]);
var minor = Number(current[1]);
if (major > required.major || (major === required.major && minor >= required.minor)) process.exit(0);

process.stderr.write(
  'This project needs Node.js ' + required.major + '.' + required.minor + ' or newer ' +
    '(this is Node.js ' + process.versions.node + '): install Node.js ' + RECOMMENDED_MAJOR + ' LTS, ' +
    'for example `npm install --prefix "$HOME/.node' + RECOMMENDED_MAJOR + '" -g node@' + RECOMMENDED_MAJOR + '` ' +
    'then `export PATH="$HOME/.node' + RECOMMENDED_MAJOR + '/bin:$PATH"`.\n'
);
process.exit(1);
