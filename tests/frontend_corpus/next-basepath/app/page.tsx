import { portalTitle } from '../lib/settings'

export default function Home() {
  return <main>{portalTitle()}</main>
}
