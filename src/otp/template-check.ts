// A login template given on the command line must send a one-time code. The usual way to lose it is
// the shell: "${PASSWORD}${TOTP}" in double quotes expands both (unset) variables to nothing, and the
// server then refuses a login that never carried a code, which reads like clock skew. Checked before
// any login. Over FTP the password is the only place for the code, so the config refuses such a
// template anyway; over SFTP a keyboard-interactive prompt may ask for the code on its own, so
// --allow-no-code keeps one on purpose.
import type { Protocol } from '../config/types.js';
import { usageError } from '../errors.js';
import { parseTemplate } from './template.js';

/** Throws (exit 2) when `template` has no ${TOTP}/${HOTP}/${OTP}, unless SFTP and `allowNoCode`. */
export function checkTemplateHasCode(
  template: string,
  protocol: Protocol,
  allowNoCode: boolean | undefined,
  flag = '--template',
): void {
  const parsed = parseTemplate(template);
  if (parsed.usesCode || (allowNoCode && protocol === 'sftp')) return;
  const quoting =
    'in a shell, "${PASSWORD}${TOTP}" in double quotes loses its variables: use single quotes, \'${PASSWORD}${TOTP}\'';
  throw usageError(
    template === ''
      ? `${flag} is empty: the server would get no one-time code`
      : `${flag} has no one-time code variable (\${TOTP}, \${HOTP} or \${OTP})`,
    protocol === 'sftp'
      ? `${quoting}; pass --allow-no-code if a separate prompt asks for the code`
      : `${quoting}; over FTP the code can only travel in the password (--allow-no-code is for sftp://)`,
  );
}
