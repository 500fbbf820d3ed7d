/**
 * A command that ends with a specific exit code rather than 0 or the generic 1, after it has
 * printed what it had to say (`rollouts create --wait`: halted, rolled back, timed out…). runCli
 * returns the code without printing it as an error.
 */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}
