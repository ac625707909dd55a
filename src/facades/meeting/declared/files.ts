/** The declarations of the Meeting paths of files: firmware (Flash) and the player's media. */
import { REFUSED as R, CHECKED_IN_HANDLER } from '../refusals.js';
import { said, type Refused } from '../../../api-reference/declaration.js';
import * as S from '../reply-shapes.js';
import { declare, type Declarations } from './entry.js';

/** What an upload refuses before it stores anything (its form, its file's name and size), besides its own 404s. */
const UPLOAD_REFUSALS: readonly Refused[] = [
  said(400, 'multipart/form-data expected'),
  said(400, 'Malformed multipart body'),
  said(400, 'Unexpected file field {name}'),
  said(400, 'Invalid file name'),
  said(400, 'File extension not allowed (allowed: {extensions})'),
  R.fileTooLarge,
  R.suspended,
  R.escapes,
];

export const FILE_DECLARATIONS: Declarations = {
  'POST /api/flash/upload': declare('Upload a firmware file into a distribution', S.uploaded, [
    ...UPLOAD_REFUSALS,
    said(400, 'devicetype and distribution must come before file'),
    said(400, 'Invalid devicetype'),
    said(400, 'Invalid distribution'),
    said(400, 'Missing file'),
    said(400, 'Missing devicetype, distribution or file'),
    said(404, 'Unknown device type'),
    said(404, 'Unknown distribution'),
  ], {
    multipart: { fields: { devicetype: 'The device type', distribution: 'The distribution of that type' }, file: 'file' },
  }),
  'GET /api/flash/:key/distribution-files': declare("The firmware files of a device's distribution", S.deviceFiles, [
    R.deviceNotFound,
    said(400, 'Device has no device type or distribution'),
    said(404, 'Distribution folder not found'),
    R.escapes,
  ]),
  'DELETE /api/flash/:type/:dist/:file': declare('Delete a firmware file', S.ok, [R.fileNotFound, R.suspended, R.escapes]),
  'GET /api/flash/:type/:dist/:file': declare('Download a firmware file (ranges, ETag)', S.FILE_REPLIES, [
    said(401, 'Missing X-Device-Key'),
    ...CHECKED_IN_HANDLER,
    R.deviceNotAuthorized,
    said(403, "Not this device's distribution"),
    R.fileNotFound,
    R.rangeNotSatisfiable,
    R.escapes,
  ]),

  'POST /api/player/upload': declare("Upload a video into a device's playlist", S.videoUploaded, [
    ...UPLOAD_REFUSALS,
    said(400, 'device_key must come before video'),
    said(400, 'Missing video'),
    said(400, 'Missing device_key or video'),
    R.badPart,
    R.deviceNotFound,
  ], {
    multipart: { fields: { device_key: 'The device', mode: 'Play mode', order: 'Position in the playlist', title: 'Title' }, optional: ['mode', 'order', 'title'], file: 'video' },
  }),
  'GET /api/player/playlist/:key': declare("A device's playlist", S.playlist, [R.deviceNotFound, R.escapes]),
  'GET /api/player/media/:key/:dir/:file': declare('One media file of a device (ranges, ETag)', S.FILE_REPLIES, [R.deviceNotFound, R.mediaNotFound, R.rangeNotSatisfiable, R.escapes]),
  'POST /api/player/clear-cache/:key': declare("Remove a device's media except default/", S.okTrue, [R.deviceNotFound, R.suspended, R.escapes]),
};
