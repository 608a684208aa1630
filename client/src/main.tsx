import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import './styles/base.css';
import './styles/article.css';
import './styles/document.css';
import './styles/notifications.css';
import './styles/search.css';
import './ui/theme';

const root = createRoot(document.getElementById('root')!);
const render = () =>
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
// A document's page arrives with its article (server: document-page.ts): the browser paints it first, then the app
// renders (a frame later), instead of the app's first render holding the first paint back. A page opened in a
// background tab gets no frames: there the app starts after 100 ms.
if (document.getElementById('article-preview')) {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    render();
  };
  requestAnimationFrame(() => setTimeout(start, 0));
  setTimeout(start, 100);
} else {
  render();
}

// The service worker keeps the app shell, so a document with unsynced work opens again without a network.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => {
    console.warn('Offline support is unavailable: the service worker did not register.', error);
  });
}
