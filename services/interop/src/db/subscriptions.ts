import type { Kysely, Transaction } from 'kysely';
import type { NewSubscription, SubscriptionStatus } from '../fhir/subscription.ts';
import type { InteropDatabase, SubscriptionRow } from './schema.ts';

type Db = Kysely<InteropDatabase> | Transaction<InteropDatabase>;

export type Subscription = {
  id: string;
  owner: string;
  status: SubscriptionStatus;
  reason: string;
  criteria: string;
  endpoint: string;
  payload: string | null;
  headers: string[];
  error: string | null;
  createdAt: string;
  updatedAt: string;
};

function fromRow(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    owner: row.owner,
    status: row.status,
    reason: row.reason,
    criteria: row.criteria,
    endpoint: row.endpoint,
    payload: row.payload,
    headers: JSON.parse(row.headers) as string[],
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertSubscription(db: Db, id: string, owner: string, subscription: NewSubscription, now: string): Promise<Subscription> {
  const row: SubscriptionRow = {
    id,
    owner,
    status: 'active',
    reason: subscription.reason,
    criteria: subscription.criteria,
    endpoint: subscription.endpoint,
    payload: subscription.payload ?? null,
    headers: JSON.stringify(subscription.headers),
    error: null,
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('interop_subscriptions').values(row).execute();
  return fromRow(row);
}

/** A subscription of `owner`'s: another system's is not found, as if it did not exist. */
export async function findSubscription(db: Db, id: string, owner: string): Promise<Subscription | undefined> {
  const row = await db.selectFrom('interop_subscriptions').selectAll().where('id', '=', id).where('owner', '=', owner).executeTakeFirst();
  return row && fromRow(row);
}

/** Any owner's: for the delivery of its notifications. */
export async function subscriptionById(db: Db, id: string): Promise<Subscription | undefined> {
  const row = await db.selectFrom('interop_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  return row && fromRow(row);
}

export async function subscriptionsOf(db: Db, owner: string): Promise<Subscription[]> {
  return (await db.selectFrom('interop_subscriptions').selectAll().where('owner', '=', owner).where('status', '!=', 'off').orderBy('created_at').execute()).map(fromRow);
}

/** Every subscription still notified (active, or failing and retried). */
export async function liveSubscriptions(db: Db): Promise<Subscription[]> {
  return (await db.selectFrom('interop_subscriptions').selectAll().where('status', '!=', 'off').orderBy('id').execute()).map(fromRow);
}

/** Active again after a delivery, or in error after a failed one: the status a subscriber reads. */
export async function setSubscriptionHealth(db: Db, id: string, error: string | null, now: string): Promise<void> {
  await db
    .updateTable('interop_subscriptions')
    .set({ status: error === null ? 'active' : 'error', error, updated_at: now })
    .where('id', '=', id)
    .where('status', '!=', 'off')
    .where((eb) => (error === null ? eb('status', '=', 'error') : eb.or([eb('status', '=', 'active'), eb('error', 'is', null), eb('error', '!=', error)])))
    .execute();
}

/** Turned off: no more notifications, and the ones still queued are dropped. */
export async function turnOff(db: Db, id: string, owner: string, now: string): Promise<boolean> {
  const result = await db.updateTable('interop_subscriptions').set({ status: 'off', updated_at: now }).where('id', '=', id).where('owner', '=', owner).where('status', '!=', 'off').executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await db.deleteFrom('interop_deliveries').where('destination', '=', `subscription:${id}`).where('delivered_at', 'is', null).execute();
  return true;
}
