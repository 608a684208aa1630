import { Component, type ErrorInfo, type ReactNode } from 'react';

/** Keeps a failure in one part of the page from blanking all of it, and says what happened. */
export class ErrorBoundary extends Component<{ children: ReactNode; label: string }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(`${this.props.label} failed:`, error, info.componentStack);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="crash" role="alert">
        <p>
          <strong>{this.props.label} stopped working.</strong> Your work is kept on this device and on the server.
        </p>
        <p className="muted small">{this.state.error.message}</p>
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
