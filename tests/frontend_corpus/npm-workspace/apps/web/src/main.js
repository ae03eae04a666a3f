import { banner } from '@shop/ui'

const out = document.getElementById('out')
if (out) out.textContent = banner(import.meta.env.VITE_SHOP_NAME ?? 'Shop')
