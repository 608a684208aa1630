/**
 * When the article's text moved on screen: after every reconciled editor update, resize of the article or
 * late web font. The overlay plugins (highlights, remote selections) re-measure when `version` changes;
 * changes are coalesced into one per animation frame. `ready` turns true, once, when the editor first shows
 * the document's article (the page and the tests wait for it).
 */
import { newStore, type Store } from '../app/store';

export interface LayoutState {
  version: number;
  ready: boolean;
}

export class ArticleLayout {
  readonly state: Store<LayoutState> = newStore<LayoutState>({ version: 0, ready: false });
  private frame = 0;

  invalidate = (): void => {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.state.setState({ version: this.state.getState().version + 1 });
    });
  };

  markReady(): void {
    if (this.state.getState().ready) return;
    performance.mark('marginalia:article-bound');
    this.state.setState({ ready: true });
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}
