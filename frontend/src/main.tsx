import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { MLDashboard } from "./components/ml/MLDashboard";
import "./index.css";

const client = new QueryClient({
  defaultOptions: {
    // A 401 waits for the token prompt rather than being retried blindly.
    queries: { retry: (count, error) => (error as { status?: number }).status !== 401 && count < 3 },
  },
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={client}>
      <MLDashboard />
    </QueryClientProvider>
  </StrictMode>,
);
