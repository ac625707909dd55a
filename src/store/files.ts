/**
 * The store as a file, for the console's backup, restore and check-config:
 * the store's own operations on its database file (the SQLite backend's,
 * sqlite/files.ts), so no console command opens the database itself.
 */
export { StoreFileError, backupStoreFile, inspectStoreFile, restoreStoreFile, storeFileSummary } from './sqlite/files.js';
