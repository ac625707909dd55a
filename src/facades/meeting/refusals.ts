/**
 * The Meeting document's refusals, by name: status and exact `{"error": ...}`
 * body (src/api-reference/declaration.ts `said`). MEETING_ERRORS
 * (replies.ts) answers the error table's codes with these; the route
 * declarations (declared/) list which of them each path can answer, and the
 * reply check holds both to what the daemon actually sends.
 */
import { said, type Refused } from '../../api-reference/declaration.js';

export const REFUSED = {
  // The store's codes (src/errors.ts) as MEETING_ERRORS answers them.
  notFound: said(404, 'Not found'),
  permissionDenied: said(403, 'Permission denied'),
  suspended: said(503, 'Writes are suspended'),
  unauthorized: said(401, 'Unauthorized'),
  storageFailure: said(503, 'Storage failure'),
  /** On PostgreSQL: the write met concurrent writes of other nodes more times than it retries; nothing applied, try again. */
  writeConflict: said(409, 'TRANSACTION FAILED {why}'),
  inUse: said(409, '{property} already in use'),
  invalid: said(400, 'invalid {property}'),
  /** A store refusal a checked request should not meet, in the store's own words. */
  storeWords: said(400, '{store message}'),
  unknownDeviceType: said(400, 'Unknown device type'),
  unknownDistribution: said(400, 'Unknown distribution for this device type'),
  parentNotFound: said(400, 'Parent device not found'),
  ownParent: said(400, 'A device cannot be its own parent'),
  // The device domain's codes.
  deviceNotFound: said(404, 'Device not found'),
  deviceNotAuthorized: said(403, 'Device not authorized'),
  deviceRevoked: said(403, 'Device revoked'),
  noTokens: said(403, 'No tokens left'),
  deviceOffline: said(403, 'Device offline'),
  typeNotFound: said(404, 'Device type not found'),
  typeExists: said(409, 'Device type already exists'),
  notAFork: said(400, 'Device type is not a fork'),
  originalGone: said(404, 'Original device type not found'),
  distributionExists: said(409, 'Distribution already exists'),
  keyTaken: said(409, 'Key already registered to another device'),
  tunnelNotFound: said(404, 'Tunnel not found'),
  noFreePort: said(503, 'No free tunnel port'),
  // The paths' own words.
  nothingToUpdate: said(400, 'Nothing to update'),
  userNotFound: said(404, 'User not found'),
  usernameTaken: said(409, 'Username already exists'),
  fileNotFound: said(404, 'File not found'),
  mediaNotFound: said(404, 'Media not found'),
  rangeNotSatisfiable: said(416, 'Range not satisfiable'),
  fileTooLarge: said(413, 'File too large'),
  /** A stored name that resolves outside its storage root (a symlink planted in it): refused, nothing read or written. */
  escapes: said(400, 'Path escapes {storage root}'),
  /** A request part parsed inside the handler (a path whose credential is checked first): `<field>: <problem>`. */
  badPart: said(400, '{field}: {problem}'),
} satisfies Record<string, Refused>;

/** What any write through the group commit can meet. */
export const WRITE_REFUSALS: readonly Refused[] = [REFUSED.suspended, REFUSED.storageFailure, REFUSED.writeConflict];

/** What writing a device's properties can meet besides: the store's checks of its values and references. */
export const DEVICE_VALUE_REFUSALS: readonly Refused[] = [
  ...WRITE_REFUSALS,
  REFUSED.invalid,
  REFUSED.inUse,
  REFUSED.unknownDeviceType,
  REFUSED.unknownDistribution,
  REFUSED.parentNotFound,
  REFUSED.ownParent,
];

/**
 * A credential checked inside the handler (a `public` path that asks for the
 * SSH token, a device key header or an administrator itself): the credential
 * chain's refusal, in its own words.
 */
export const CHECKED_IN_HANDLER: readonly Refused[] = [said(401, '{why}'), said(403, '{why}'), said(503, '{why}')];
