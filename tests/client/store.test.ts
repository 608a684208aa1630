/**
 * The client's store primitive: state in, state out, subscribers told of every change, and a component that
 * reads one slice re-rendering when that slice changes and only then.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Window } from 'happy-dom';
import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { newStore, useStoreState } from '../../client/src/app/store.js';

describe('the store primitive', () => {
  test('a partial update merges into the state and leaves the other fields as they were', () => {
    const store = newStore({ count: 0, label: 'a' });
    store.setState({ count: 1 });
    expect(store.getState()).toEqual({ count: 1, label: 'a' });
  });

  test('subscribers hear each change with the new and the previous state, until they unsubscribe', () => {
    const store = newStore({ count: 0 });
    const heard: Array<[number, number]> = [];
    const unsubscribe = store.subscribe((next, previous) => heard.push([next.count, previous.count]));
    store.setState({ count: 1 });
    store.setState({ count: 2 });
    unsubscribe();
    store.setState({ count: 3 });
    expect(heard).toEqual([
      [1, 0],
      [2, 1],
    ]);
  });
});

describe('useStoreState in a component', () => {
  const window = new Window();
  const globals = globalThis as Record<string, unknown>;
  const saved = new Map<string, unknown>();

  beforeAll(() => {
    for (const name of ['window', 'document', 'IS_REACT_ACT_ENVIRONMENT']) saved.set(name, globals[name]);
    globals.window = window;
    globals.document = window.document;
    globals.IS_REACT_ACT_ENVIRONMENT = true;
  });

  afterAll(async () => {
    for (const [name, value] of saved) globals[name] = value;
    await window.happyDOM.close();
  });

  test('re-renders when the selected slice changes, and not when another field does', async () => {
    const store = newStore({ active: 'a', other: 0 });
    const rendered: string[] = [];
    function Active() {
      const active = useStoreState(store, (s) => s.active);
      rendered.push(active);
      return createElement('span', null, active);
    }
    const container = window.document.createElement('div');
    window.document.body.appendChild(container);
    const root = createRoot(container as unknown as HTMLElement);
    await act(async () => root.render(createElement(Active)));
    expect(container.textContent).toBe('a');

    await act(async () => store.setState({ other: 1 }));
    expect(rendered).toEqual(['a']);

    await act(async () => store.setState({ active: 'b' }));
    expect(container.textContent).toBe('b');
    expect(rendered).toEqual(['a', 'b']);
    await act(async () => root.unmount());
  });
});
