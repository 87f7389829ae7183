// The remote path rules as --help shows them (src/config/url.ts implements them). No imports: these
// strings are read when the commands are registered, on every start.

export const URL_PATH_HELP = `
Remote paths in URLs, one rule per scheme:
  ftp://, ftpes://, ftps://  below the login directory (RFC 1738): ftp://me@host/site is <login dir>/site
  sftp://                    absolute, as curl and WinSCP read it: sftp://me@host/srv/backup is /srv/backup;
                             below the home directory: sftp://me@host/~/backup
  every scheme               no path, "/" or "/~" is the login directory itself;
                             "//srv" or "/%2Fsrv" is /srv from the server's root`;

export const ACCOUNT_DIR_HELP =
  'remote base directory: relative or ~/… is below the login directory, /… is absolute (default: the login directory)';

export const JOB_DIR_HELP =
  "remote directory: relative is below the account's, ~/… below the login directory, /… absolute (default: the job name)";
