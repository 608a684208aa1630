import { SignIn } from '../views/SignIn';
import { Library } from '../views/Library';
import { DocumentView } from '../views/document/DocumentView';
import { useRoute } from './router';
import { useSession } from './session';

export function App() {
  const session = useSession();
  const route = useRoute();
  if (!session) return <SignIn />;
  if (route.name === 'document')
    return <DocumentView key={`${session.user.id}:${route.id}`} docId={route.id} session={session} />;
  return <Library session={session} />;
}
