// What the simulator and the bench need of the bundles, without the bundler: the project's root, and
// how to run a source from its fresh bundle (lib/engine/bundles.ts). sim/ imports nothing of lib/;
// scripts/ is build tooling, between the two.
export { ROOT } from '../lib/engine/root.ts'
export { bundleOr, sourceArgs, stepArgs } from '../lib/engine/bundles.ts'
