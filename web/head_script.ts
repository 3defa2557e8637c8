/**
 * The page's one inline script, and its hash for the Content-Security-Policy (app.ts): every other
 * script is a module file from this server, so `script-src` allows those and this text only.
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Before the first paint: the chosen buy/sell palette (so colours never flash), and the stored
 * session's role (the Admin link shows for admins only; NavUser keeps the role current afterwards).
 */
export const PALETTE_SCRIPT =
  `try{var d=document.documentElement,p=localStorage.getItem("kalency.palette");` +
  `if(p)d.dataset.palette=p;var s=JSON.parse(localStorage.getItem("kalency.session")||"null");` +
  `if(s&&s.user&&s.user.role)d.dataset.role=s.user.role}catch(e){}`;

/** The CSP source that allows exactly {@linkcode PALETTE_SCRIPT}. */
export const PALETTE_SCRIPT_HASH = `'sha256-${createHash("sha256").update(PALETTE_SCRIPT).digest("base64")}'`;
