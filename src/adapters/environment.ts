/** Variables that mark a batch job or a cluster node where no person is at the keyboard. */
export const BATCH_VARIABLES = [
  'SLURM_JOB_ID', 'SLURM_NODELIST', 'PBS_JOBID', 'PBS_ENVIRONMENT', 'PBS_NODEFILE', 'JOB_ID', 'SGE_TASK_ID',
  'PE_HOSTFILE', 'LSB_JOBID', 'LSB_HOSTS', 'OAR_JOB_ID', 'OAR_NODEFILE', 'OMPI_COMM_WORLD_SIZE', 'PMI_RANK',
  'MPI_LOCALRANKID', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_PORT', 'FREVA_BATCH_JOB', 'JUPYTERHUB_USER',
] as const;

/** Whether a person can take part, and if not, why. */
export interface InteractiveDecision {
  interactive: boolean;
  why: string;
}

/**
 * Interactive login is possible when a person is at a terminal (stdin and
 * stderr, where prompts go, are terminals; stdout may be a pipe, as in
 * `$(oidc-auth HOST)`), or the caller says `interactive: true`, and no
 * batch-job variable is set. `false` always wins.
 */
export function decideInteractive(
  requested: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
  tty: { stdin: boolean; stderr: boolean } = { stdin: process.stdin.isTTY === true, stderr: process.stderr.isTTY === true },
): InteractiveDecision {
  if (requested === false) return { interactive: false, why: 'interactive: false was given' };
  const batch = BATCH_VARIABLES.find((name) => env[name] !== undefined && env[name] !== '');
  if (batch) return { interactive: false, why: `this looks like a batch job: ${batch} is set` };
  if (requested === true) return { interactive: true, why: '' };
  if (tty.stdin && tty.stderr) return { interactive: true, why: '' };
  return { interactive: false, why: tty.stdin ? 'stderr is not a terminal' : 'stdin is not a terminal' };
}

/** The token file named by `OIDC_TOKEN_FILE`, if any. */
export function tokenFileFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.OIDC_TOKEN_FILE;
  return value === undefined || value.trim() === '' ? undefined : value;
}
