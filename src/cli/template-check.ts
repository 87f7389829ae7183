// A login template given on the command line must send a one-time code. The usual way to lose it is
// the shell: "${PASSWORD}${TOTP}" in double quotes expands both (unset) variables to nothing, and the
// server then refuses a login that never carried a code, which reads like clock skew.
import { usageError } from '../errors.js';
import { parseTemplate } from '../otp/index.js';

/** Throws (exit 2) when `template` has no ${TOTP}/${HOTP}/${OTP}, unless `allowNoCode`. */
export function checkTemplateHasCode(
  template: string,
  allowNoCode: boolean | undefined,
  flag = '--template',
) {
  const parsed = parseTemplate(template);
  if (parsed.usesCode || allowNoCode) return;
  const quoting =
    'in a shell, "${PASSWORD}${TOTP}" in double quotes becomes empty or loses its variables: use single quotes, \'${PASSWORD}${TOTP}\'';
  throw usageError(
    template === ''
      ? `${flag} is empty: the server would get no one-time code`
      : `${flag} has no one-time code variable (\${TOTP}, \${HOTP} or \${OTP})`,
    `${quoting}; pass --allow-no-code if the server really takes no code in the password`,
  );
}
