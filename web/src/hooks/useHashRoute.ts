import { useEffect, useState } from 'react';

/**
 * The screen named by the URL's hash (`#/doctor`): the gateway serves only index.html at `/`,
 * so client routes live in the hash, and a reload or a bookmark keeps the screen.
 */
export function useHashRoute(): string {
  const read = () => location.hash.replace(/^#\/?/, '');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
