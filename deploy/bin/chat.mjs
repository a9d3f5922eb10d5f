#!/usr/bin/env node
// The `chat` command. Runs the bundle built by `npm run build` (deploy/build.mjs).
import '../dist/chat.mjs';
