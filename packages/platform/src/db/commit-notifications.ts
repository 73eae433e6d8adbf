import type { Transaction } from 'kysely';

export type Notification = { channel: string; payload: string };

/**
 * Notifications that wait for their transaction to commit (Database.notify), the part both
 * adapters share: each transaction collects its own, a rolled-back one drops them, and a
 * transaction that runs again (PostgreSQL after a deadlock) keeps only its last run's. Once it
 * has committed, its notifications are handed to `deliver` together, in the order they were sent.
 */
export function commitNotifications<DB>(deliver: (notifications: Notification[]) => void) {
  const pending = new WeakMap<Transaction<DB>, Notification[]>();
  return {
    /** Runs `work` through `transact` (the adapter's own transaction), delivering its notifications after the commit. */
    async around<T>(transact: (work: (trx: Transaction<DB>) => Promise<T>) => Promise<T>, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
      let notifications: Notification[] = [];
      const result = await transact((trx) => {
        notifications = [];
        pending.set(trx, notifications);
        return work(trx);
      });
      if (notifications.length > 0) deliver(notifications);
      return result;
    },
    add(trx: Transaction<DB>, channel: string, payload: string): void {
      const notifications = pending.get(trx);
      if (!notifications) throw new Error('notify needs a transaction of this database');
      notifications.push({ channel, payload });
    },
  };
}
