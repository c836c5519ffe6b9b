/**
 * Preloaded by the ops commands' npm scripts (`node --import ./src/ops/compileCache.mjs`): Node
 * keeps what it compiles, the type-stripped .ts files included, in its compile cache (in the
 * system's temp folder; NODE_COMPILE_CACHE names another, NODE_DISABLE_COMPILE_CACHE=1 turns it
 * off), so a command starts without stripping and compiling its modules again. Plain
 * JavaScript, because a .ts file would itself be stripped before the cache is on.
 */
import { enableCompileCache } from "node:module";

enableCompileCache();
