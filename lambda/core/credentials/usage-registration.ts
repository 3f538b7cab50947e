/**
 * Registers a client's usage key with API Gateway usage plans, so the plan's throttle and
 * quota apply to that client (API Gateway meters usage plans PER API KEY; the authorizer
 * names the key as `usageIdentifierKey`).
 *
 * Every step looks before it writes, so running a registration twice creates nothing the
 * second time, and a run that failed half-way is finished by the next one. The API
 * Gateway rules it works within:
 * - an API key belongs to at most one usage plan per API stage, so moving a client between
 *   plans unbinds it from the old plan before binding it to the new one;
 * - a usage plan with API stages cannot be deleted, so a custom plan loses its stage first;
 * - names are not unique: a key is ours when name AND value match, a plan when name AND
 *   our stage match, so two deployments in one account never touch each other's resources.
 */
import { KMS_TAG_APPLICATION_VALUE } from '../../../common/tokens';
import { Env, UsageNaming } from '../../../common/names';
import type { ClientLimits } from '../../../common/credential-items';
import { planKind, sameLimits } from './client-limits';
import { ConfigurationError } from '../shared/env';

/** An API stage as usage plans name it. */
export interface ApiStageRef {
  readonly restApiId: string;
  readonly stageName: string;
}

export interface UsageApiKey {
  readonly id: string;
  readonly enabled: boolean;
}

export interface UsagePlanInfo {
  readonly id: string;
  readonly name: string;
  readonly stages: readonly ApiStageRef[];
  /** Throttle and quota as API Gateway holds them (absent throttle members read as 0). */
  readonly limits: ClientLimits;
}

export interface NewApiKey {
  readonly name: string;
  readonly value: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface NewUsagePlan {
  readonly name: string;
  readonly limits: ClientLimits;
  readonly stage: ApiStageRef;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The API Gateway operations registration needs, with API Gateway's own idempotency
 * signals already translated: a conflict on create is `'exists'`, a delete of something
 * already gone succeeds. Implemented by `adapters/usage-plans.ts`.
 */
export interface UsagePlanApi {
  /**
   * The API key with exactly this name and value, if any; `knownId` (the id an earlier
   * registration stored) is checked first. Reads no other key's value.
   */
  findApiKey(name: string, value: string, knownId?: string): Promise<UsageApiKey | undefined>;
  createApiKey(key: NewApiKey): Promise<string | 'exists'>;
  deleteApiKey(keyId: string): Promise<void>;
  /** Every usage plan with exactly this name. */
  findPlans(name: string): Promise<readonly UsagePlanInfo[]>;
  createPlan(plan: NewUsagePlan): Promise<string>;
  updatePlanLimits(planId: string, from: ClientLimits, to: ClientLimits): Promise<void>;
  /** Detaches these stages from the plan, then deletes it. */
  deletePlan(planId: string, detach: readonly ApiStageRef[]): Promise<void>;
  /** The usage plans this API key is bound to. */
  plansOfKey(keyId: string): Promise<readonly UsagePlanInfo[]>;
  bindKey(planId: string, keyId: string): Promise<'bound' | 'exists'>;
  unbindKey(planId: string, keyId: string): Promise<void>;
}

export interface UsageRegistrationConfig {
  /** Name of the plan clients with default limits share (created by the stack, with `Defaults.rateLimit/burstLimit`). */
  readonly defaultPlanName: string;
  readonly stage: ApiStageRef;
}

const CONFIG_VARIABLES = [Env.defaultUsagePlanName, Env.restApiId, Env.stageName] as const;

/**
 * The admin function's usage-plan settings: all three variables, or none (registration
 * off: a deployment or test harness without usage plans). Some but not all is a
 * configuration mistake and fails the cold start naming what is missing.
 */
export function usageRegistrationConfigFrom(env: Readonly<Record<string, string | undefined>>): UsageRegistrationConfig | undefined {
  const missing = CONFIG_VARIABLES.filter((name) => !env[name]);
  if (missing.length === CONFIG_VARIABLES.length) return undefined;
  if (missing.length > 0) {
    throw new ConfigurationError(`environment variables ${CONFIG_VARIABLES.join(', ')} go together; missing ${missing.join(', ')}`);
  }
  return { defaultPlanName: env[Env.defaultUsagePlanName]!, stage: { restApiId: env[Env.restApiId]!, stageName: env[Env.stageName]! } };
}

export interface UsageClient {
  readonly clientId: string;
  /** The API Gateway API key VALUE: the client's non-secret usage key. */
  readonly usageKey: string;
  readonly limits: ClientLimits;
  /** The API key id an earlier registration stored on the client record, if any: looked up first. */
  readonly usageKeyId?: string;
}

/**
 * What a registration left in API Gateway, for the client record. `usagePlanId`: the plan
 * the key is bound to now; `null` when it is bound to none (the issuer must then stop
 * naming the key in tokens); `undefined` when the run failed before it could tell.
 */
export type RegistrationResult =
  | { readonly registered: true; readonly usageKeyId: string; readonly usagePlanId: string }
  | { readonly registered: false; readonly error: string; readonly usageKeyId?: string; readonly usagePlanId?: string | null };

export type DeregistrationResult = { readonly removed: true } | { readonly removed: false; readonly error: string };

/** One API Gateway step failed (after the SDK's own bounded retries). */
export class UsageStepFailed extends Error {
  override readonly name = 'UsageStepFailed';

  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${describeCause(cause)}`);
  }
}

/** Error texts end up in responses and audit lines: bounded, and built from names and API Gateway's messages only. */
const MAX_ERROR_LENGTH = 300;

function describeCause(cause: unknown): string {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/** Where the key is bound, as far as this run knows. */
interface Progress {
  usageKeyId?: string;
  usagePlanId?: string | null;
}

export class UsageRegistrar {
  /** The default plan's id, once found (it lives as long as the stack). */
  private defaultPlan?: string;

  constructor(
    private readonly api: UsagePlanApi,
    private readonly config: UsageRegistrationConfig,
  ) {}

  /** Puts the client's key into exactly the plan its limits call for. Never throws. */
  async register(client: UsageClient): Promise<RegistrationResult> {
    const progress: Progress = {};
    try {
      const defaultPlanId = await this.defaultPlanId();
      const keyId = await this.ensureApiKey(client);
      progress.usageKeyId = keyId;
      const target = planKind(client.limits) === 'default' ? defaultPlanId : await this.ensureCustomPlan(client);
      await this.bindOnlyTo(target, keyId, defaultPlanId, progress);
      await this.deleteCustomPlans(client.clientId, target);
      return { registered: true, usageKeyId: keyId, usagePlanId: target };
    } catch (error) {
      return { registered: false, error: failureText(error), ...progress };
    }
  }

  /** A revoked client: out of every plan of our stage, its custom plan deleted, its API key deleted (freeing account quota). Never throws. */
  async deregister(clientId: string, usageKey: string, knownKeyId: string | undefined): Promise<DeregistrationResult> {
    try {
      const keyId = knownKeyId ?? (await this.step('look up API key', () => this.api.findApiKey(UsageNaming.apiKey(clientId), usageKey)))?.id;
      if (keyId !== undefined) {
        for (const plan of await this.boundPlans(keyId)) await this.step('unbind key from plan', () => this.api.unbindKey(plan.id, keyId));
      }
      await this.deleteCustomPlans(clientId, undefined);
      if (keyId !== undefined) await this.step('delete API key', () => this.api.deleteApiKey(keyId));
      return { removed: true };
    } catch (error) {
      return { removed: false, error: failureText(error) };
    }
  }

  private async defaultPlanId(): Promise<string> {
    if (this.defaultPlan !== undefined) return this.defaultPlan;
    const { defaultPlanName } = this.config;
    const plans = await this.step('look up default usage plan', () => this.api.findPlans(defaultPlanName));
    const [plan] = plans.filter((candidate) => this.onOurStage(candidate)).sort((a, b) => a.id.localeCompare(b.id));
    if (plan === undefined) throw new UsageStepFailed('look up default usage plan', new Error(`no usage plan named ${defaultPlanName} serves this stage`));
    this.defaultPlan = plan.id;
    return plan.id;
  }

  private async ensureApiKey(client: UsageClient): Promise<string> {
    const name = UsageNaming.apiKey(client.clientId);
    const lookUp = () => this.step('look up API key', () => this.api.findApiKey(name, client.usageKey, client.usageKeyId));
    const created =
      (await lookUp()) ??
      (await this.step('create API key', () =>
        this.api.createApiKey({ name, value: client.usageKey, tags: tagsOf(client.clientId, this.config.defaultPlanName) }),
      ));
    // A conflict: the key exists (e.g. an earlier attempt's response was lost), so read it back.
    const key = created === 'exists' ? await lookUp() : created;
    if (key === undefined)
      throw new UsageStepFailed(
        'create API key',
        new Error(
          `a key with this value exists, but not under the name ${name}, or one the admin role may not read (no tags of this deployment: docs/throttling.md, upgrading)`,
        ),
      );
    if (typeof key === 'string') return key;
    // An operator disabled it in API Gateway to block the client there: respected, never undone.
    if (!key.enabled) throw new UsageStepFailed('check API key', new Error(`API key ${key.id} is disabled in API Gateway`));
    return key.id;
  }

  /** The client's custom plan with its limits, created or updated; duplicates of a race are deleted later. */
  private async ensureCustomPlan(client: UsageClient): Promise<string> {
    const [plan] = await this.customPlans(client.clientId);
    if (plan === undefined) {
      const name = UsageNaming.customPlan(client.clientId);
      const stage = this.config.stage;
      return this.step('create usage plan', () =>
        this.api.createPlan({ name, limits: client.limits, stage, tags: tagsOf(client.clientId, this.config.defaultPlanName) }),
      );
    }
    if (!sameLimits(plan.limits, client.limits)) await this.step('update usage plan', () => this.api.updatePlanLimits(plan.id, plan.limits, client.limits));
    return plan.id;
  }

  /**
   * Unbinds the key from every other plan of our stage, then binds it to `target` (API
   * Gateway allows one plan per key and stage). A failed bind re-binds the key where the
   * client can still be served — the default plan, or back where it was when the default
   * plan itself is the target — so a failure leaves the client usable.
   */
  private async bindOnlyTo(target: string, keyId: string, defaultPlanId: string, progress: Progress): Promise<void> {
    const bound = await this.boundPlans(keyId);
    const alreadyBound = bound.some((plan) => plan.id === target);
    progress.usagePlanId = alreadyBound ? target : (bound[0]?.id ?? null);
    const others = bound.filter((plan) => plan.id !== target);
    for (const [index, plan] of others.entries()) {
      await this.step('unbind key from plan', () => this.api.unbindKey(plan.id, keyId));
      if (!alreadyBound) progress.usagePlanId = others[index + 1]?.id ?? null;
    }
    if (alreadyBound) return;
    try {
      await this.step('bind key to plan', () => this.api.bindKey(target, keyId));
      progress.usagePlanId = target;
    } catch (error) {
      const fallback = target === defaultPlanId ? others[0]?.id : defaultPlanId;
      if (
        fallback !== undefined &&
        (await this.api.bindKey(fallback, keyId).then(
          () => true,
          () => false,
        ))
      )
        progress.usagePlanId = fallback;
      throw error;
    }
  }

  /**
   * Deletes the client's custom plans except `keep` (the key is no longer in them),
   * including one left without any stage by a delete that failed half-way: a plan without
   * stages applies to no API, so removing it affects nobody.
   */
  private async deleteCustomPlans(clientId: string, keep: string | undefined): Promise<void> {
    for (const plan of await this.customPlans(clientId, true)) {
      const detach = plan.stages.filter((stage) => this.isOurStage(stage));
      if (plan.id !== keep) await this.step('delete usage plan', () => this.api.deletePlan(plan.id, detach));
    }
  }

  /** The client's custom plans on our stage (and detached ones, if asked), oldest id first (a race can have made two). */
  private async customPlans(clientId: string, withDetached = false): Promise<UsagePlanInfo[]> {
    const plans = await this.step('look up usage plans', () => this.api.findPlans(UsageNaming.customPlan(clientId)));
    const wanted = plans.filter((plan) => this.onOurStage(plan) || (withDetached && plan.stages.length === 0));
    return wanted.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Plans of our stage the key is in; plans of other APIs an operator put it in are left alone. */
  private async boundPlans(keyId: string): Promise<UsagePlanInfo[]> {
    const plans = await this.step('look up plans of key', () => this.api.plansOfKey(keyId));
    return plans.filter((plan) => this.onOurStage(plan));
  }

  private onOurStage(plan: UsagePlanInfo): boolean {
    return plan.stages.some((stage) => this.isOurStage(stage));
  }

  private isOurStage(stage: ApiStageRef): boolean {
    return stage.restApiId === this.config.stage.restApiId && stage.stageName === this.config.stage.stageName;
  }

  private async step<T>(name: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw error instanceof UsageStepFailed ? error : new UsageStepFailed(name, error);
    }
  }
}

/**
 * The tags of what a registration creates: the admin role may create only these, and manage
 * only what carries them (`lib/usage-plans.ts`). The deployment tag's value is the default
 * plan's name, this deployment's identity (`usageDeploymentTagValue` in `lib/gateway/client-plan.ts`).
 */
function tagsOf(clientId: string, deployment: string): Record<string, string> {
  return { [UsageNaming.applicationTag]: KMS_TAG_APPLICATION_VALUE, [UsageNaming.deploymentTag]: deployment, [UsageNaming.clientTag]: clientId };
}

function failureText(error: unknown): string {
  return error instanceof UsageStepFailed ? error.message : `unexpected: ${describeCause(error)}`;
}
