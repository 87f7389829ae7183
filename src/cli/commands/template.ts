// `otpbackup template preview|presets`: check a login template without revealing any secret.
// The preview shows where each value goes and how long it is; values are masked.
import type { Command } from 'commander';
import { OtpBackupError } from '../../errors.js';
import type { CliContext } from '../context.js';

const PREVIEW_EXAMPLES = `
Examples:
  $ otpbackup template preview '\${PASSWORD};\${TOTP}'
  ••••••••;••••••
  $ otpbackup template preview '\${PASSWORD}\${OTP}' --password-length 12 --digits 8
  $ otpbackup template preview '$<TOTP>'          # $<NAME> is the same as \${NAME}

Quote the template with single quotes so the shell leaves \${...} alone.
Variables: \${PASSWORD}, \${TOTP}, \${HOTP}, \${OTP} (the code, whichever kind), \${USER}; $$ is a literal $.
`;

interface PreviewOptions {
  passwordLength: string;
  digits: string;
  userLength: string;
}

function length(name: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) > max) {
    throw new OtpBackupError(
      'usage',
      `${name}: must be a whole number from 0 to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return Number(raw);
}

export function register(program: Command, ctx: CliContext): void {
  const template = program
    .command('template')
    .description('check login templates (how password and one-time code are combined)')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup template presets
  otpbackup template preview '\${PASSWORD};\${TOTP}'`,
    );

  template
    .command('preview')
    .description('show what a template expands to, with every secret masked')
    .argument('<template>', "login template, e.g. '${PASSWORD};${TOTP}'")
    .option('--password-length <n>', 'length shown for ${PASSWORD}', '8')
    .option('--digits <n>', 'length shown for the code (${TOTP}, ${HOTP}, ${OTP})', '6')
    .option('--user-length <n>', 'length shown for ${USER}', '5')
    .addHelpText('after', PREVIEW_EXAMPLES)
    .action(async (text: string, opts: PreviewOptions) => {
      const { parseTemplate, previewSegments } = await import('../../otp/index.js');
      if (text === '') {
        throw new OtpBackupError('usage', 'template: empty', {
          hint: "e.g. otpbackup template preview '${TOTP}'",
        });
      }
      const pw = length('--password-length', opts.passwordLength, 256);
      const digits = length('--digits', opts.digits, 10);
      const user = length('--user-length', opts.userLength, 256);
      const parsed = parseTemplate(text);
      const segs = previewSegments(text, {
        PASSWORD: pw,
        TOTP: digits,
        HOTP: digits,
        OTP: digits,
        USER: user,
      });
      const out = [segs.map((s) => s.shown).join('')];
      const rows = segs.map((s) => {
        const at = s.length <= 1 ? `${s.start}` : `${s.start}-${s.start + s.length - 1}`;
        const what = s.variable ? `\${${s.variable}}` : JSON.stringify(s.shown);
        const note = s.variable
          ? `${s.length} ${s.variable === 'PASSWORD' || s.variable === 'USER' ? 'characters' : 'digits'}, masked`
          : 'literal text';
        return [s.length === 0 ? '-' : at, what, note] as const;
      });
      const w0 = Math.max(...rows.map((r) => r[0].length));
      const w1 = Math.max(...rows.map((r) => r[1].length));
      for (const [a, b, c] of rows) out.push(`  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
      ctx.stdout.write(`${out.join('\n')}\n`);
      if (!parsed.usesCode) {
        ctx.stderr.write(
          'warning: the template has no code variable (${OTP}, ${TOTP} or ${HOTP}); the server will get no one-time code\n',
        );
      }
    });

  template
    .command('presets')
    .description('list the common templates')
    .addHelpText('after', '\nExamples:\n  otpbackup template presets')
    .action(async () => {
      const { TEMPLATE_PRESETS } = await import('../../otp/index.js');
      const w = Math.max(...TEMPLATE_PRESETS.map((p) => p.template.length));
      for (const p of TEMPLATE_PRESETS) ctx.stdout.write(`${p.template.padEnd(w)}  ${p.description}\n`);
    });
}
