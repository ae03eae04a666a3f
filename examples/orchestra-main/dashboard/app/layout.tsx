import type { Metadata } from 'next'
import type { ReactNode } from 'react'
import './globals.css'

export const metadata: Metadata = {
  title: 'Orchestra Dashboard',
  description: 'Agent runs, queue depth and backend health for Orchestra AI',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <strong>Orchestra</strong>
          <nav>
            <a href="/">Overview</a>
            <a href="/agents">Agents</a>
          </nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  )
}
