// Next.js wants a root layout in every App Router app; the benchmark only calls the API route.
export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
