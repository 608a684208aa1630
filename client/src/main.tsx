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
// renders (a frame later), instead of the app's first render holding the first paint back.
if (document.getElementById('article-preview')) requestAnimationFrame(() => setTimeout(render, 0));
else render();

// The service worker keeps the app shell, so a document with unsynced work opens again without a network.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => {
    console.warn('Offline support is unavailable: the service worker did not register.', error);
  });
}
