const board = document.getElementById('board')
fetch('/rpc/status')
  .then((answer) => answer.json())
  .then((status) => {
    if (board) board.textContent = `Ops board: ${status.state}`
  })
