/**
 * Import this first in a service's main module (before anything else): a SIGINT/SIGTERM/SIGHUP
 * that comes while the rest of the program still loads is then held, and the process's shutdown
 * handles it once `createShutdown` runs. See `holdEarlySignals` in @lib/lifecycle.
 * @module
 */
import { holdEarlySignals } from "./mod.ts";

holdEarlySignals();
