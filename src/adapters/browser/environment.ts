// Whether a person can take part in a login here (a terminal, or a batch
// job), and whether this is WSL, where the browser runs on Windows.
import fs from 'node:fs';
import type { Environment } from '../../types.ts';

/**
 * Variables that mark a batch job of a scheduler, an MPI rank or a CI run:
 * no person is at the keyboard even if a terminal seems attached. Notebook
 * and remote-IDE terminals (JupyterHub, VS Code remote, code-server) and
 * Kubernetes pods are not on this list: there a terminal decides.
 */
export const BATCH_VARIABLES = [
  'SLURM_JOB_ID', 'SLURM_NODELIST', 'PBS_JOBID', 'PBS_ENVIRONMENT', 'PBS_NODEFILE', 'JOB_ID', 'SGE_TASK_ID',
  'PE_HOSTFILE', 'LSB_JOBID', 'LSB_HOSTS', 'OAR_JOB_ID', 'OAR_NODEFILE', '_CONDOR_JOB_AD', 'OMPI_COMM_WORLD_SIZE', 'PMI_RANK',
  'MPI_LOCALRANKID', 'FREVA_BATCH_JOB', 'CI',
] as const;

/** Whether a person can take part, and if not, why. */
export interface InteractiveDecision {
  interactive: boolean;
  why: string;
}

/** The batch variable that says no person is here, if any (an interactive scheduler session with a terminal is no batch job). */
function batchVariable(env: Environment): string | undefined {
  if (env.SLURM_PTY_PORT) return undefined; // srun --pty: an interactive SLURM session.
  if (env.PBS_ENVIRONMENT === 'PBS_INTERACTIVE') return undefined; // qsub -I
  if (env.CI === 'false' || env.CI === '0') return BATCH_VARIABLES.find((name) => name !== 'CI' && !!env[name]);
  return BATCH_VARIABLES.find((name) => env[name] !== undefined && env[name] !== '');
}

/**
 * Whether an interactive login is possible. An explicit choice by the person
 * or the caller (`interactive: true` / `--interactive`, or `false`) beats
 * every guess. Without one: a batch-job variable means no; else a person is
 * at a terminal when stdin and stderr (where prompts go) are terminals;
 * stdout may be a pipe, as in `$(oidc-auth HOST)`.
 */
export function decideInteractive(
  requested: boolean | undefined,
  env: Environment = process.env,
  tty: { stdin: boolean; stderr: boolean } = { stdin: process.stdin.isTTY === true, stderr: process.stderr.isTTY === true },
): InteractiveDecision {
  if (requested === false) return { interactive: false, why: 'interactive: false was given' };
  if (requested === true) return { interactive: true, why: '' };
  const batch = batchVariable(env);
  if (batch) return { interactive: false, why: `this looks like a batch job: ${batch} is set; pass --interactive (interactive: true) if a person is here` };
  if (tty.stdin && tty.stderr) return { interactive: true, why: '' };
  return { interactive: false, why: tty.stdin ? 'stderr is not a terminal' : 'stdin is not a terminal' };
}

/** What tells WSL apart (simulated in tests). */
export interface WslSigns {
  platform: string;
  env: Environment;
  /** The kernel's version line (`/proc/version`). */
  kernelVersion(): string;
}

function kernelVersion(): string {
  try {
    return fs.readFileSync('/proc/version', 'utf8');
  } catch {
    return '';
  }
}

let wslHere: boolean | undefined;

/**
 * Whether this is Linux under WSL, where a browser opened from here runs on
 * Windows: `WSL_DISTRO_NAME` (or `WSL_INTEROP`) is set, or the kernel says
 * `microsoft`. Read once per process unless `signs` are given.
 */
export function isWsl(signs?: Partial<WslSigns>): boolean {
  if (signs === undefined && wslHere !== undefined) return wslHere;
  const { platform = process.platform, env = process.env, kernelVersion: version = kernelVersion } = signs ?? {};
  const wsl = platform === 'linux' && (!!env.WSL_DISTRO_NAME || !!env.WSL_INTEROP || /microsoft/i.test(version()));
  if (signs === undefined) wslHere = wsl;
  return wsl;
}
