// The listener lives in lib/listen/; these names stay importable from here.
export { Listener, type ListenerEvents } from './listen/listener';
export { type ListenerOptions, type ResolvedListenerOptions, resolveListenerOptions, DEFAULT_SERIES_TIMEOUT } from './listen/options';
export { buildStorescpArgs } from './listen/storescp-command';
export { isPortInUse } from './listen/port';
