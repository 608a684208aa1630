import { SignIn } from '../views/SignIn';
import { Library } from '../views/Library';
import { SearchPage } from '../views/SearchPage';
import { useSearchShortcut } from '../views/SearchBox';
import { DocumentView } from '../views/document/DocumentView';
import { useRoute } from './router';
import { useSession } from './session';

export function App() {
  const session = useSession();
  const route = useRoute();
  useSearchShortcut();
  if (!session) return <SignIn />;
  if (route.name === 'document')
    return (
      <DocumentView
        key={`${session.user.id}:${route.id}`}
        docId={route.id}
        session={session}
        threadId={route.threadId}
        commentId={route.commentId}
      />
    );
  if (route.name === 'search') return <SearchPage session={session} params={route.params} />;
  return <Library session={session} />;
}
