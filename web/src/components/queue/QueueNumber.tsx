/**
 * A visit's queue number in a worklist's first column: large, since staff read it out. Nothing for
 * a visit registered before the numbers.
 */
export function QueueNumber({ number }: { number: number | undefined }) {
  if (number === undefined) return null;
  return <span className="queue-number">{number}</span>;
}
