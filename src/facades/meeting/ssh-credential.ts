/**
 * The SSH-side callers' credential (an AuthorizedKeysCommand, the ForceCommand
 * script): `X-Meeting-Ssh-Token`, the content of `<state_dir>/ssh-api-token`.
 * The chain checks it (src/auth/credentials/ssh-token.ts) and the kit's access
 * levels `ssh`, `ssh-read` and `ssh-or-device` ask for it
 * (src/facades/kit/principals.ts); the facade only makes the file at start.
 */
export { SSH_TOKEN_FILE, loadSshToken } from '../../auth/credentials/ssh-token.js';
