import { ConfigError } from '@medical/platform';

type Env = Record<string, string | undefined>;

export type RegistrySettings = {
  /**
   * PATIENT_REGISTRY_CARRY_OVER=true: a visit registered for a patient id the registry does not
   * have, sent with the patient's name as clients did before the registry existed, carries that
   * patient into the registry (sex unknown, as the upgrade's migration carried over the patients
   * of the visits already registered) instead of being refused. For the rollout of the release
   * that brought the registry, while gateways and consoles of the previous release still send
   * such registrations; unset it once they are all replaced. Never for an id of the registry's
   * own form (eight digits): a mistyped number must not become a new patient.
   */
  carryOverUnregistered: boolean;
};

/** Read once at start, so a typo fails the start with a message naming the variable. */
export function loadRegistrySettings(env: Env): RegistrySettings {
  const raw = env.PATIENT_REGISTRY_CARRY_OVER?.trim() ?? '';
  if (raw !== '' && raw !== 'true' && raw !== 'false') throw new ConfigError(`PATIENT_REGISTRY_CARRY_OVER must be true or false, got "${raw}"`);
  return { carryOverUnregistered: raw === 'true' };
}
