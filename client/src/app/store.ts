/**
 * The client's one state container: a zustand vanilla store (getState, setState, subscribe), read in React
 * with `useStoreState`. Everything on screen that changes over time — the signed-in session, a document's
 * connection and unsynced changes, its threads, the people here, the view state — lives in one of these, so
 * a component re-renders when, and only when, the slice it selected changes.
 *
 * State is always an object: setState merges a partial object into it, and a selector may pick one field.
 */
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';

export type Store<T extends object> = StoreApi<T>;

export function newStore<T extends object>(initial: T): Store<T> {
  return createStore<T>()(() => initial);
}

const whole = <T>(state: T) => state;

/** The store's state, or the part `select` picks (compared with Object.is: return existing objects). */
export function useStoreState<T extends object, U = T>(
  store: Store<T>,
  select: (state: T) => U = whole as (state: T) => U,
): U {
  return useStore(store, select);
}
