// Text that came from outside (a server, a callback, a file) before it
// reaches a terminal: escape sequences there could write the clipboard
// (OSC 52), fake hyperlinks or clear the screen.

/** C0 controls except newline, DEL, and C1 controls (0x80-0x9f, where CSI 0x9b lives). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** Whether `text` holds a control character (newline excepted). */
export function hasControl(text: string): boolean {
  CONTROL.lastIndex = 0;
  return CONTROL.test(text);
}

/** `text` without control characters (newlines kept): safe to print to a terminal. */
export function printable(text: string): string {
  return text.replace(CONTROL, '');
}

/** RFC 6749 appendix A.7: the characters an OAuth `error` code may have. */
const ERROR_CODE = /^[\u0020\u0021\u0023-\u005b\u005d-\u007e]{1,100}$/;

/** Whether `code` is a well-formed OAuth `error` value. */
export function isErrorCode(code: string): boolean {
  return ERROR_CODE.test(code);
}
