// The OTP core: pure functions (no clock, no I/O). Callers pass the time and the seed bytes.
export type { Algorithm } from '../config/types.js';
export { encodeBase32, parseSecret } from './base32.js';
export { hotp } from './hotp.js';
export { type OtpauthInfo, parseOtpauthUri, toOtpauthUri } from './otpauth-uri.js';
export {
  ALGORITHMS,
  checkAlgorithm,
  checkCounter,
  checkDigits,
  checkPeriod,
  checkT0,
  DIGITS,
  DIGITS_MAX,
  DIGITS_MIN,
  DIGITS_TEXT,
  PERIOD_MAX,
} from './params.js';
export {
  expandTemplate,
  type ParsedTemplate,
  type PreviewSegment,
  parseTemplate,
  previewSegments,
  previewTemplate,
  TEMPLATE_PRESETS,
  TEMPLATE_VARS,
  type TemplatePart,
  type TemplateVar,
  templateParts,
} from './template.js';
export { type OtpParams, stepStartMs, totpAt, totpForStep, totpStep } from './totp.js';
