/** An API error shown with the server's message, never swallowed. */
export function ErrorLine({ error }: { error: Error | null | undefined }) {
  if (!error) return null;
  return (
    <p role="alert" className="text-sm text-rose-700 dark:text-rose-300">
      Error: {error.message}
    </p>
  );
}
